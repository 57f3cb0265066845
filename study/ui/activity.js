// Client-side activity clock of the rater page (study/ui/rater.py), a Streamlit
// components-v2 program: no frontend build. It counts the time the tab is visible
// *and* focused, keeps the running total in sessionStorage (so a reload in the same
// tab keeps it), and reports it as widget state on every pointer/key press. Inside a
// form the state is sent with the form's submit, so it adds no extra round trip; the
// press on Submit itself updates it first.
export default function (component) {
  const { data, setStateValue } = component;
  const key = "oversight-active-" + data.id;
  let total = Number(sessionStorage.getItem(key) || 0);
  const active = () => document.visibilityState === "visible" && document.hasFocus();
  let since = active() ? performance.now() : null;
  const tick = () => {
    const now = performance.now();
    if (since !== null) total += now - since;
    since = active() ? now : null;
    sessionStorage.setItem(key, String(Math.round(total)));
  };
  const report = () => {
    tick();
    setStateValue("activity", { active_ms: Math.round(total), client_at: new Date().toISOString() });
  };
  const timer = setInterval(tick, 1000);
  document.addEventListener("visibilitychange", tick);
  window.addEventListener("focus", tick);
  window.addEventListener("blur", tick);
  document.addEventListener("pointerdown", report, true);
  document.addEventListener("keydown", report, true);
  report();
  return () => {
    tick();
    clearInterval(timer);
    document.removeEventListener("visibilitychange", tick);
    window.removeEventListener("focus", tick);
    window.removeEventListener("blur", tick);
    document.removeEventListener("pointerdown", report, true);
    document.removeEventListener("keydown", report, true);
  };
}

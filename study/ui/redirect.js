// Automatic redirect of the rater page (study/ui/rater.py) once the completion code is
// on screen and every answer is on the server: after data.delay_ms, go to data.url.
export default function (component) {
  const { data } = component;
  const timer = setTimeout(() => {
    try { window.top.location.assign(data.url); } catch (e) { window.location.assign(data.url); }
  }, data.delay_ms);
  return () => clearTimeout(timer);
}

"""oversight-lab: Streamlit entry point (navigation over the role pages; nothing else)."""

from study.ui import run

run()

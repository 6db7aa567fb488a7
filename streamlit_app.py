"""Latent Explorer in the browser: `streamlit run streamlit_app.py`. The app lives in explorer/app/."""

from explorer.app.main import main

main()

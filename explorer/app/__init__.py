"""The Streamlit app. The only part of Latent Explorer that imports streamlit; run it with
``streamlit run streamlit_app.py``."""

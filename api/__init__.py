"""HTTP routes served beside the pages by ``serve.py`` (Streamlit's ``st.App`` on Starlette).

Entry points like ``pages/``: they read a request, call ``core/`` as the signed-in user and answer JSON.
"""

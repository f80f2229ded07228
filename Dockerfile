# OrchestAI Workbench: the Streamlit app with the default corpus, on port 8501.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ORCHESTAI_DB=/data/orchestai.db \
    ORCHESTAI_TOKEN_CACHE=/data/token_states

WORKDIR /app
COPY requirements.txt pyproject.toml README.md ./
RUN pip install -r requirements.txt
COPY . .
RUN pip install --no-deps --no-build-isolation -e . \
    && mkdir -p /data \
    && useradd --create-home --uid 1000 orchestai \
    && chown -R orchestai /data /app
USER orchestai
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)" || exit 1

# Inside the container the app must listen on all interfaces to be reachable through -p 8501:8501.
CMD ["sh", "-c", "orchestai init && exec streamlit run workbench/app.py --server.address 0.0.0.0 --server.port 8501"]

FROM python:3.12-slim
ENV GUNICORN_CMD_ARGS="--max-requests 1000 --max-requests-jitter 100"
COPY . /srv
WORKDIR /srv
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi"]

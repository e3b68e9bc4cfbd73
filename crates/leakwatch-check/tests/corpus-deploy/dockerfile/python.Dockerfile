FROM python:3.12-slim AS base
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV PYTHONUNBUFFERED=1 \
    WEB_CONCURRENCY=4
EXPOSE 8000
# expect-next: workers-not-recycled
CMD ["gunicorn", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "shop.wsgi"]

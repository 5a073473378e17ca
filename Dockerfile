FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --noinput
RUN useradd --create-home app
USER app
# Inside a container the web server listens on every interface; the port is published by compose.
# config/gunicorn.py reads WEB_BIND and WEB_WORKERS and keeps query values out of the access log,
# as for the Procfile (scripts/run) and docker-compose.yml.
ENV WEB_BIND=0.0.0.0:8000 WEB_WORKERS=2
EXPOSE 8000
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi:application"]

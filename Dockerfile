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
# The same variables and defaults as the Procfile (scripts/run) and docker-compose.yml.
ENV WEB_BIND=0.0.0.0:8000 WEB_WORKERS=2
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind \"$WEB_BIND\" --workers \"$WEB_WORKERS\" --access-logfile -"]

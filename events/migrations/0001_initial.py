# The event log, webhooks and their deliveries moved from the auths app. The tables keep their
# names (auths_authevent, auths_webhook, auths_webhookdelivery): only Django's model state moves,
# no data is copied.

import django.db.models.deletion
from django.db import migrations, models

import infrastructure.encryption


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('auths', '0003_webhook_delivery_plural'),
        ('services', '0001_initial'),
        ('workspaces', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='AuthEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('authentication_ref', models.UUIDField(blank=True, null=True)),
                        ('authentication_name', models.CharField(blank=True, max_length=200)),
                        ('kind', models.CharField(choices=[('created', 'Created'), ('refreshed', 'Refreshed'), ('refresh_failed', 'Refresh failed'), ('recovered', 'Recovered'), ('expiring', 'Expiring'), ('needs_reauth', 'Needs re-authentication'), ('expired_early', 'Expired early'), ('service_flagged', 'Service flagged'), ('service_cleared', 'Service flag cleared'), ('reauthorized', 'Re-authorized'), ('deleted', 'Deleted'), ('error', 'Error')], max_length=32)),
                        ('message', models.TextField(blank=True)),
                        ('data', models.JSONField(blank=True, default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('authentication', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='auths.authentication')),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='auth_events', to='workspaces.organization')),
                        ('service', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='services.service')),
                    ],
                    options={
                        'db_table': 'auths_authevent',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Webhook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.CharField(max_length=1000)),
                        ('signing_secret', infrastructure.encryption.EncryptedTextField(blank=True, null=True)),
                        ('events', models.JSONField(blank=True, default=list, help_text='Event kinds; empty means all.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhooks', to='workspaces.organization')),
                    ],
                    options={
                        'db_table': 'auths_webhook',
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='events.authevent')),
                        ('webhook', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='events.webhook')),
                    ],
                    options={
                        'db_table': 'auths_webhookdelivery',
                        'verbose_name_plural': 'webhook deliveries',
                        'constraints': [models.UniqueConstraint(fields=('webhook', 'event'), name='webhook_delivery_once')],
                    },
                ),
            ],
        ),
    ]

# AuthEvent, Webhook and WebhookDelivery now belong to the events app (events/migrations/0001),
# which took over their tables as they are: only the model state leaves this app.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('auths', '0003_webhook_delivery_plural'),
        ('events', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name='WebhookDelivery'),
                migrations.DeleteModel(name='Webhook'),
                migrations.DeleteModel(name='AuthEvent'),
            ],
        ),
    ]

"""A page's incident count is its items, counted when read (Page.incident_count): a stored
counter made every report of a storm lock the page's row until its ticket committed."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('oncall', '0002_paging'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='page',
            name='incident_count',
        ),
    ]

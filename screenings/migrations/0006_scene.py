# The model Marker is called Scene, as everywhere else in the product. A rename keeps every row
# (and the table's rows keep their ids); only the table and the reverse accessor change name.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('screenings', '0005_media_analyses'),
    ]

    operations = [
        migrations.RenameModel(old_name='Marker', new_name='Scene'),
        migrations.AlterField(
            model_name='scene',
            name='screening',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='scenes', to='screenings.screening'),
        ),
    ]

import sys
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from inference.datasets import DatasetError
from inference.training import train
from inference.training_options import TrainingError, build_argument_parser, config_from_arguments


class Command(BaseCommand):
    help = (
        "Train an emotion network (paper_cnn, vgg_bn, vgg_bn_wide or resnet50) with a checkpoint every epoch;"
        " --resume continues."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        build_argument_parser(parser)

    def handle(self, *args: object, **options: object) -> None:
        try:
            config = config_from_arguments(options)
            best = train(config, resume=bool(options["resume"]), verbose="auto" if sys.stdout.isatty() else 2)
        except (TrainingError, DatasetError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"best model: {best}"))

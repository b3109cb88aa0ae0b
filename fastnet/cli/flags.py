"""The recipe's flags (``fastnet.recipe.FLAGS``) on an argparse parser, as ``fastnet train`` has them."""
import argparse


def recipe_flags(parser, flags):
    """Add ``flags`` (``recipe.Flag``s) to ``parser`` (or an argument group): a switch as
    ``--name`` / ``--no-name``, any other with its parser, whose ValueError argparse reports."""
    for flag in flags:
        if flag.parse is None:
            parser.add_argument(flag.option, *flag.aliases, action=argparse.BooleanOptionalAction,
                                help=flag.help)
        else:
            parser.add_argument(flag.option, *flag.aliases, type=_argument_type(flag.parse),
                                choices=flag.choices, metavar=flag.metavar, help=flag.help)


def _argument_type(parse):
    """``parse`` for argparse: int and float as they are (argparse names them), a recipe
    parser's ValueError as its message."""
    if parse in (int, float, str):
        return None if parse is str else parse

    def argument(text):
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    argument.__name__ = parse.__name__
    return argument

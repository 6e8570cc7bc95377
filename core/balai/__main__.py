"""``python -m balai``: the ``balai`` command, for the interpreter that runs it."""

from balai.cli import main

if __name__ == "__main__":
    main()

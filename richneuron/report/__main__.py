"""`python -m richneuron.report`: the command line (`main`)."""
from . import main

if __name__ == "__main__":
    main()

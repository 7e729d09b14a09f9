"""`python -m richneuron.report`: the command line (`main`)."""
from . import main

main()

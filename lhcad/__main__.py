from lhcad.cli import main

main()

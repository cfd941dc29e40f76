from patronage.cli.main import main

main()

from soroban_vision.cli import main

main()

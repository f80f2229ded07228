from orchestai_core.cli import main

main(prog_name="orchestai")

from orchestai_core.cli import main

if __name__ == "__main__":  # also keeps spawned import workers from re-running the CLI
    main(prog_name="orchestai")

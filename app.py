from signatory import create_app

app = create_app()

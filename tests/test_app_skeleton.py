from fastapi.testclient import TestClient

from server.net.app import create_app


def test_healthz_answers_ok():
    client = TestClient(create_app())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_cli_help_lists_serve_options(capsys):
    from server.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "9001", "--scene", "space"])
    assert (args.port, args.scene, args.host) == (9001, "space", "127.0.0.1")


def test_serve_with_an_unknown_scene_says_so_in_one_sentence(capsys):
    from server.cli import main

    assert main(["serve", "--scene", "no-such-store", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot open scene 'no-such-store'" in err and "boutique" in err and "Traceback" not in err

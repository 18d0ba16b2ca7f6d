from django.core.mail import EmailMessage

from ilcop.mail import ConsoleAndFileBackend


def test_development_email_goes_to_the_console_and_to_a_file(settings, tmp_path, capsys):
    settings.EMAIL_FILE_PATH = tmp_path
    backend = ConsoleAndFileBackend()
    EmailMessage("Visit confirmed", "See you on Tuesday", to=["a@trust.example"]).send()
    backend.send_messages([EmailMessage("Visit confirmed", "See you on Tuesday",
                                        to=["a@trust.example"])])
    [written] = list(tmp_path.iterdir())
    assert "See you on Tuesday" in written.read_text()
    assert "Subject: Visit confirmed" in capsys.readouterr().out

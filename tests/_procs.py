"Helpers for tests that signal a real child process."
import signal

def foreground():
    "`preexec_fn` for a child that is sent signals: SIGINT, SIGHUP and SIGTERM at their defaults, as in a terminal's foreground job."
    # A test run started under nohup or from a background shell leaves SIGHUP or SIGINT ignored, and the commands
    # rightly keep an ignored signal ignored; the tests are about the signal arriving.
    for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM): signal.signal(s, signal.SIG_DFL)

#!/usr/bin/env python3
"""Launch-to-first-frame time of the TUI, measured from outside in a pty.

    python3 benches/first_frame.py BINARY [RUNS] [-- extra rxguide args]

Starts `BINARY tui ...` in a 200x60 pseudo-terminal (fresh temp data dir, so
the knowledge base is built from the bundled sources as on a first start),
and records, from the fork: the first byte written, the first frame (the
first write after entering the alternate screen that contains the home
screen's text) and, if it shows within 2 s of the first frame, when the
status line says the model is ready (model_ready_ms: null otherwise). Then sends 'q' and, if needed, SIGTERM. Prints one JSON line
per run and the medians. The model keeps loading in the background, so the
first frame does not wait for it.
"""
import json, os, pty, select, signal, statistics, struct, sys, tempfile, time, fcntl, termios

def now_ms(t0):
    return (time.perf_counter() - t0) * 1000


def one(binary, extra, timeout=60.0):
    data_dir = tempfile.mkdtemp(prefix="rxguide-ff-")
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["RXGUIDE_DATA_DIR"] = data_dir
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary, "--data-dir", data_dir, "tui"] + extra)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 200, 0, 0))
    buf = b""
    first_byte = first_frame = ready = None
    while time.perf_counter() - t0 < timeout:
        r, _, _ = select.select([fd], [], [], 0.05)
        if not r:
            if first_frame is not None and (ready is not None or now_ms(t0) > first_frame + 2000):
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        now = (time.perf_counter() - t0) * 1000
        if first_byte is None:
            first_byte = now
        buf += chunk
        if first_frame is None and b"\x1b[?1049h" in buf and len(buf.split(b"\x1b[?1049h", 1)[1]) > 200:
            first_frame = now
        # "model: <file> ready" (not "kb ready"); the text can be split
        # across writes, so look at the tail of everything read so far.
        if ready is None and b".gguf ready" in buf[-4096:]:
            ready = now
    try:
        os.write(fd, b"q")
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    os.waitpid(pid, 0)
    return {"first_byte_ms": first_byte, "first_frame_ms": first_frame, "model_ready_ms": ready}

def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    binary = args[0]
    runs = int(args[1]) if len(args) > 1 else 5
    rows = []
    for _ in range(runs):
        row = one(binary, extra)
        rows.append(row)
        print(json.dumps(row), flush=True)
    med = {k: statistics.median([r[k] for r in rows if r[k] is not None]) if any(r[k] is not None for r in rows) else None
           for k in rows[0]}
    print(json.dumps({"median": med, "runs": runs, "args": extra}))

if __name__ == "__main__":
    main()

"""One visit to a gateway: open its line, run the jobs of its meters one after the other, and
return plain results for the Odoo side to store.

Pure and database-free on purpose: the poller runs one session per gateway in worker threads,
and everything that touches the database (claiming, ingestion, command states, logs) happens
in the cron's own thread before and after. A session never raises for a meter's failure: each
job gets its result with the typed error, so one dead meter never stops the others.

A job is a dict::

    {"key": any, "meter": {protocol, address, register_map, password...},
     "action": "poll" | "read_now" | "relay_on" | "relay_off" | "valve_open" | "valve_close"
               | "sync_clock" | "write_credit" | "set_tariff" | "set_thresholds",
     "max_clock_drift": seconds or None (poll: check the meter clock)}

and its result::

    {"key", "ok", "reading" (Reading or None), "error" (GatewayError or None),
     "verified" (True/False/None), "clock_drift" (seconds or None), "clock_synced" (bool),
     "duration" (s), "frames": [(direction "tx"/"rx", bytes, seconds since the job start)]}
"""
# Pure protocol code: read/write here are not ORM methods.
# pylint: disable=method-required-super

import time
from datetime import datetime

from .channel import Channel
from .exceptions import GatewayError, Unsupported, VerificationFailed
from .transport.base import Transport

SWITCH_ACTIONS = {"relay_on": True, "relay_off": False, "valve_open": True, "valve_close": False}
READ_ACTIONS = ("poll", "read_now")
# Bytes kept per frame in the communication log: a long profile reply is cut, not dropped.
MAX_FRAME_BYTES = 512


class RecordingTransport(Transport):
    """A transport that remembers the frames going through it, for the communication log."""

    def __init__(self, inner):
        self.inner = inner
        self.frames = []
        self.started = time.monotonic()

    def _record(self, direction, data):
        if self.frames and self.frames[-1][0] == direction:
            previous = self.frames[-1]
            self.frames[-1] = (direction, (previous[1] + data)[:MAX_FRAME_BYTES], previous[2])
        else:
            self.frames.append(
                (direction, bytes(data[:MAX_FRAME_BYTES]), time.monotonic() - self.started)
            )

    def write(self, data):
        self._record("tx", data)
        self.inner.write(data)

    def read(self, size, deadline):
        data = self.inner.read(size, deadline)
        self._record("rx", data)
        return data

    def reset_input(self):
        self.inner.reset_input()

    def close(self):
        self.inner.close()

    def take_frames(self):
        frames, self.frames = self.frames, []
        self.started = time.monotonic()
        return frames


def new_result(job):
    return {
        "key": job.get("key"),
        "ok": False,
        "reading": None,
        "error": None,
        "verified": None,
        "clock_drift": None,
        "clock_synced": False,
        "duration": 0.0,
        "frames": [],
    }


def run_session(settings, jobs, local_now=datetime.now, record=True):
    """Run ``jobs`` on the gateway described by ``settings``; return one result per job.

    ``local_now`` gives the meters' local time (naive) for the clock checks. A configuration
    error of the gateway itself fails every job with it.
    """
    results = [new_result(job) for job in jobs]
    try:
        channel = Channel(settings)
    except GatewayError as error:
        for result in results:
            result["error"] = error
        return results
    recorder = None
    if record:
        recorder = RecordingTransport(channel.bus.transport)
        channel.bus.transport = recorder
    try:
        for job, result in zip(jobs, results, strict=True):
            started = time.monotonic()
            try:
                run_job(channel, job, result, local_now)
                result["ok"] = True
            except GatewayError as error:
                result["error"] = error
            except Exception as error:
                result["error"] = GatewayError(f"unexpected {type(error).__name__}: {error}")
            result["duration"] = time.monotonic() - started
            if recorder is not None:
                result["frames"] = recorder.take_frames()
    finally:
        channel.close()
    return results


def run_job(channel, job, result, local_now):
    """Carry out one job on ``channel``, filling ``result``; typed errors propagate."""
    driver = channel.driver(job["meter"])
    action = job["action"]
    if action in READ_ACTIONS:
        reading = driver.read()
        result["reading"] = reading
        max_drift = job.get("max_clock_drift")
        if max_drift is not None and reading.meter_time is not None:
            drift = (reading.meter_time - local_now()).total_seconds()
            result["clock_drift"] = drift
            if abs(drift) > max_drift:
                driver.set_clock(local_now().replace(microsecond=0))
                result["clock_synced"] = True
        return
    if action in SWITCH_ACTIONS:
        on = SWITCH_ACTIONS[action]
        driver.relay(on)
        reading = driver.read()
        result["reading"] = reading
        if reading.relay_closed is None:
            result["verified"] = None  # the map has no readable state: acknowledged only
        elif reading.relay_closed != on:
            raise VerificationFailed(
                f"the meter acknowledged {action} but reads back "
                f"{'closed' if reading.relay_closed else 'open'}"
            )
        else:
            result["verified"] = True
        return
    if action == "sync_clock":
        now = local_now().replace(microsecond=0)
        driver.set_clock(now)
        meter_time = driver.read_clock()
        drift = (meter_time - local_now()).total_seconds()
        result["clock_drift"] = drift
        result["clock_synced"] = True
        if abs(drift) > max(job.get("max_clock_drift") or 0, 5):
            raise VerificationFailed(f"the meter clock is still {drift:+.0f} s off after setting")
        result["verified"] = True
        return
    # Credit, tariff and thresholds need registers that no documented map of the catalogue
    # has (PROTOCOLS.md section 5): the drivers do not guess them.
    raise Unsupported(f"{driver.protocol}: {action} is not available for this meter model")

"""The client network kit: retries of HTTP errors and timeouts, as a variant says.

DOMAIN.md: "HTTP errors are retried 4 times (1, 2, 4, 8 s); timeouts connect
10 s, read / write 20 s". WIRE.md: "Application errors (in a 200 body) are not
retried." :func:`send` sends one API call through a :class:`Binding` and hands
``deliver`` exactly one answer:

* an answer with HTTP status >= 400 is sent again after the next of
  ``http_retry_delays`` (a ``request_retried`` record), until they run out;
* with ``connect_timeout``, an unreachable backend's answer (an outage) comes
  when that timeout fires, not one latency later;
* with ``read_timeout``, an answer later than that is dropped and the call
  fails with 408 at that time (a ``request_timed_out`` record).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..backends import ApiAnswer
from ._port import ApiLink, Binding
from ._variants import ProviderVariants

__all__ = ["REQUEST_TIMEOUT", "multirequest", "send"]

#: The network kit's code for a request that timed out (its connection error).
REQUEST_TIMEOUT: Final = 408


def multirequest(*actions: str) -> str:
    """The endpoint name of a multirequest (``service/multirequest``) of ``actions``, as
    the trace writes it: ``multirequest:ottUser/login,session/get``."""
    return "multirequest:" + ",".join(actions)


def send(binding: Binding, variants: ProviderVariants, link: ApiLink, endpoint: str,
         serve: Callable[[], ApiAnswer], deliver: Callable[[ApiAnswer], None], *,
         ks: str | None = None, cancelled: Callable[[], bool] | None = None) -> None:
    """Send one API call as ``variants``' network kit does; ``deliver`` gets one answer.

    ``cancelled``: asked before each retry; once it says so the kit sends the call no
    more and delivers nothing (netkit's ``cancelAction``: a cancelled request is not
    retried, e.g. a media load superseded by a new one)."""
    delays = variants.http_retry_delays
    if not delays and variants.read_timeout is None and variants.connect_timeout is None:
        binding.call(link, endpoint, serve, deliver, ks=ks)  # the plain path: no timers
        return

    def attempt(number: int) -> None:
        if number and cancelled is not None and cancelled():
            return  # cancelled while waiting to retry
        done = False
        sent = binding.port.now

        def finish(answer: ApiAnswer) -> None:
            if number < len(delays) and answer.http_status >= 400:
                if cancelled is not None and cancelled():
                    return  # cancelled: no retry, and no one to deliver to
                delay = delays[number]
                binding.record("request_retried", {
                    "backend": link, "endpoint": endpoint, "attempt": number + 1,
                    "delay": delay, "http_status": answer.http_status})
                binding.after(delay, lambda: attempt(number + 1))
                return
            deliver(answer)

        def answered(answer: ApiAnswer) -> None:
            nonlocal done
            if done:
                return  # it came after the read timeout: the kit no longer listens
            connect = variants.connect_timeout
            if answer.unreachable and connect is not None:
                waited = binding.port.now - sent
                if waited < connect:
                    done = True
                    binding.after(connect - waited, lambda: finish(answer))
                    return
            done = True
            finish(answer)

        def timed_out() -> None:
            nonlocal done
            if done:
                return
            done = True
            binding.record("request_timed_out", {"backend": link, "endpoint": endpoint,
                                                 "after": timeout})
            finish(ApiAnswer(REQUEST_TIMEOUT, name="ConnectionError",
                             message=f"no answer within {timeout:g} s"))

        binding.call(link, endpoint, serve, answered, ks=ks)
        timeout = variants.read_timeout
        if timeout is not None:
            binding.after(timeout, timed_out)

    attempt(0)

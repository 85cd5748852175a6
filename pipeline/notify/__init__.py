"""Notifications: Slack threads, email and signed webhooks, as stored deliveries that are never lost.

The package has no store and no loop of its own; the job store and the worker drive it through
three seams, so a Slack or SMTP outage only delays messages.

1. Planning (pure, inside the event's transaction)::

       router.plan_deliveries(event: dict, config: Config) -> list[dict]

   ``event`` is ``{"type", "job": <status dict of GET /api/builds/{id}/status>, "previous_status",
   "log_tail": [last lines], "event_id"?, "occurred_at"?, "stage"? (for build.stage),
   "language"?, "build_id"? (translation.ready), ...extras -> payload["details"]}``. Types: the public
   events in :data:`router.PUBLIC_EVENTS` plus internal ``build.started`` and ``build.stage`` (Slack
   thread parent only). A ``build.completed`` with ``previous_status == "FAILED"`` is also routed as
   ``build.fixed``. Each planned delivery is::

       {"channel": "slack" | "slack_webhook" | "email" | "webhook",
        "target": "#channel" | "webhook" | ["a@x", ...] | <index into [[notify.webhooks]]>,
        "event": <type>, "thread_key": <build job id>, "idempotency_key": "msg_<32 hex>",
        "payload": {...}}          # JSON-serialisable, secrets scrubbed, self-contained

   The store saves each as a ``deliver`` job whose payload is that whole dict. The idempotency key is
   stable for the same event (``event_id`` if given, else derived from the job's transition), so it
   can also serve as the unique key of the delivery row.

2. Sending (one attempt)::

       await deliver.send(delivery, *, config, refs: RefStore, http=None, clock=time.time) -> dict

   Returns a small result to store (``{"channel", "ts", "thread_ts"}`` for Slack,
   ``{"message_id", "refused"?}`` for email, ``{"webhook_id", "status"}`` for webhooks). Raises
   :class:`errors.TransientDeliveryError` (``retry_after`` may be set from ``Retry-After``) or
   :class:`errors.PermanentDeliveryError` (``code``: ``invalid_auth``, ``channel_not_found``,
   ``recipient_refused``, ``forbidden_address``, ``bad_url``, ``secret_missing``, ``template_error``,
   ...; dead-letter at once). ``exc.as_dict()`` is what the delivery row and the API show. Anything
   else raised is a bug: treat it as transient. :class:`refstore.RefStore` (``get``/``set``) is the
   durable key-value memory the store provides; its keys are listed in :mod:`.refstore`.

3. Backing off::

       backoff.next_delay(attempt, base, retry_after, *, cap=..., rng=None) -> float

   ``attempt`` counts from 1 (the attempt that just failed); use ``[notify] backoff_base``,
   ``backoff_max`` as ``cap``, and dead-letter when ``attempt >= [notify] max_attempts`` (8, not
   ``[workers] max_attempts``). A replay from the dead-letter list resets the attempts and keeps
   the delivery dict (and so its idempotency key) unchanged. :class:`testing.RetryDriver` is a
   reference implementation of those rules.

Ordering: run the ``slack`` and ``email`` deliveries of one ``(channel, target, thread_key)`` one at
a time, oldest first. Inside one daemon :func:`refstore.thread_lock` already serialises the
thread bookkeeping, and a late stage update never overwrites a newer parent state (the payload's
``thread.rank``), but two daemons sending ``build.started`` and the first ``build.stage`` of a build
at the same moment could each start a thread. Delivery is at least once: an attempt cut short by a
crash or a lost answer is sent again with the same idempotency key (Slack message metadata,
``Message-ID``, ``webhook-id``), so receivers can deduplicate.

Templates are in ``templates/notify/`` (overridable with ``[notify] templates``), webhook body
schemas in :mod:`.schemas`, user documentation in ``docs/notifications.md``.
"""

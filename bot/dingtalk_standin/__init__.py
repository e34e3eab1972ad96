"""A local DingTalk (钉钉) for tests and ``leadbot console --channel dingtalk``.

Split by concern: ``gateway`` (Stream mode: open-connection, WebSocket frames, ACKs,
redelivery), ``openapi`` (token, robot sends, file download, session webhook), ``records``
(everything recorded, injected faults) and ``server`` (both on one port, on a thread).
"""

from bot.dingtalk_standin.records import RecordedCall, SentMessage
from bot.dingtalk_standin.server import CARD_CALLBACK_TOPIC, CHATBOT_TOPIC, DingTalkStandIn

__all__ = ["CARD_CALLBACK_TOPIC", "CHATBOT_TOPIC", "DingTalkStandIn", "RecordedCall", "SentMessage"]

"""Notifications (消息通知): in-app messages, and their delivery by WeChat subscribe message and SMS."""

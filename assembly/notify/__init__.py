"""Residents'-committee notifications 居委会通知: a record for every event the committee must be told of."""

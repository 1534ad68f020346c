"""Events of the reviews service.

Published (through the outbox, in the transaction of the change):
- `ReviewPosted` {review_id, app_id, author_id, recommended, language, playtime_at_review,
  early_access, received_for_free}
- `ReviewUpdated` {review_id, app_id, author_id, changed, recommended}
- `ReviewDeleted` {review_id, app_id, author_id}
- `ReviewHidden` / `ReviewRestored` {review_id, app_id, author_id, moderator_id, reason}
- `GameReviewSummaryChanged` {app_id, total, positive, score, description, recent_total,
  recent_positive, recent_score, recent_description, revision}: a game's summary after every
  change that moves it, and when a day leaves its recent window (the catalog keeps its copy
  from it). `revision` grows with each one, so a late older summary can be told apart.

Consumed: none (ownership is asked of purchases when a review is written).
"""

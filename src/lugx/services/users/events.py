"""Events of the users service.

Published (through the outbox, in the same transaction as the change):
- `UserRegistered` {user_id, account_id, username, roles}
- `EmailVerificationRequested` {user_id, email, token}: for the notifications service to e-mail
- `UserEmailVerified` {user_id}
- `UserLoggedIn` {user_id, session_id}
- `UserProfileUpdated` {user_id, changed}
- `UserPasswordChanged` {user_id}
- `UserRolesChanged` {user_id, roles}

Consumed: none yet.
"""

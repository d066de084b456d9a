"""Hospital staff accounts (医院工作人员) for the web console and the staff API: who they are, what they may do.

Three roles: a platform admin (平台管理员) sees every hospital; a hospital admin (医院管理员) and a doctor
(医生) belong to one hospital, and a doctor is one row of the doctors table, acting only on their own
schedules. Passwords are argon2id hashes; staff tokens are our usual JWTs with the staff role as
``role`` and the staff id as subject, so a patient token (role ``patient``) never passes for staff.
"""

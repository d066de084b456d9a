"""The literal demo data, kept apart from the code that draws hospitals, doctors and rosters from it.

``departments`` is the catalogue of 大科室 and 科室, ``hospitals`` the demo hospitals and their fees,
``doctors`` the popular experts, title mix and intro phrases, ``names`` the name pools and
``rosters`` the sessions and capacities by title. ``yiyue.demo.generator`` turns them into rows.
"""

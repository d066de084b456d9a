"""(being built: issue 11)"""

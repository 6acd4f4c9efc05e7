# Userspace programs: grows with libkbits, kbitsd and kbitsctl.
userspace:

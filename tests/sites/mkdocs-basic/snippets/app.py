import os
import sys
# line three
def main() -> None:
    print("five")
# line six
# line seven

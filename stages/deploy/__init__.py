"""The ``deploy`` stage: atomic releases to named targets."""

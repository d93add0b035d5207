"""Operations over the broker port that a person runs by hand (dead letters, reading topics back):
plain functions of a ``Broker``, so the command line, the worlds and a later browser console share them."""

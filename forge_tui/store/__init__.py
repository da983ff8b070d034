"""MongoDB persistence through pymongo, and the embedded SecantusDB launcher."""

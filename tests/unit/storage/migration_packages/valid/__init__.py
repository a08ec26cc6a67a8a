"""Two migrations, numbered out of directory order, plus a file that is not SQL."""

"""The CJK font the PDF report embeds (Lantu Serif SC, a subset of Noto Serif SC; SIL OFL 1.1, see OFL.txt)."""

"""pyqtgraph widgets that draw plain data from core/reports: training curves, CMC curves, score
histograms with the calibration curve, and the embedding map. They know nothing of projects."""

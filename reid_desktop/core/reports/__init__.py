"""What the app's plots show, prepared without Qt: model reports on the confirmed identities,
training curves of live and recorded runs, and 2-D maps of a model's embeddings."""

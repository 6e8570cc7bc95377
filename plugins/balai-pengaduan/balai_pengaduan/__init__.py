"""balai-pengaduan: 24-hour public complaints (*pengaduan masyarakat*)."""

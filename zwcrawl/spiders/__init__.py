"""Scrapy spiders: `zaman` crawls both editions of Zaman al-Wasl."""

"""From stored records to what people read: tables, RD curves, BD-rates and the HTML report."""
